// What the runner must know about individual stages beyond their order, as data.

/**
 * Stages that cannot run a second time on a chroot they already changed, with the reason
 * shown to the user. `--resume-from` refuses to start at one of them. Every other stage is
 * written to be re-run on its own result; the e2e test re-runs the whole list on a finished
 * image and checks the image against the OS-image spec again.
 */
export const notRerunnable: Readonly<Record<string, string>> = {};
