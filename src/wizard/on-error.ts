// The question asked inside the task tree when a stage fails (--on-error=ask on a terminal):
// retry the stage, show how to open a shell in the builder, keep the machine as it is and
// stop, or clean up and stop.
import { ListrInquirerPromptAdapter } from '@listr2/prompt-adapter-inquirer';
import { select } from '@inquirer/prompts';
import type { StageDecision } from '../pipeline/common.js';

/** The listr task wrapper's prompt entry point, as far as this question needs it. */
export interface PromptingTask {
  prompt(adapter: typeof ListrInquirerPromptAdapter): ListrInquirerPromptAdapter;
}

export interface FailureFacts {
  stage: string;
  exitCode: number;
  logPath: string;
  /** the command that opens a shell on the build machine */
  shell: string;
  buildDir: string;
  /** why it failed, when stemforge knows (a full disk) */
  why?: string;
}

export async function askAfterFailure(task: PromptingTask, facts: FailureFacts): Promise<StageDecision> {
  let note = '';
  for (;;) {
    const answer = await task.prompt(ListrInquirerPromptAdapter).run(select<StageDecision | 'shell'>, {
      // the question first: the tree truncates long lines to the terminal's width
      message: `${facts.stage} failed (exit ${facts.exitCode}${facts.why ? `: ${facts.why}` : ''}). What now?\n  log: ${facts.logPath}${note}`,
      choices: [
        { value: 'retry', name: 'retry this stage (the builder is synced again first, so a fix in stages/ is used)' },
        { value: 'shell', name: 'open a shell in the builder (shows the command, then asks again)' },
        { value: 'keep', name: 'keep the machine and the build as they are, and stop' },
        { value: 'cleanup', name: "clean up (mounts, loop devices, this build's folders) and stop" },
        { value: 'abort', name: 'stop; keep the build for --resume-from' },
      ],
    });
    if (answer !== 'shell') return answer;
    note = `\n  In another terminal: ${facts.shell}\n  then: cd ${facts.buildDir}  (chroot in work/chroot, settings in settings.bash)`;
  }
}
