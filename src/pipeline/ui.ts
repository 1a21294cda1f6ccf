// listr2 set-up shared by the commands: the whole UI goes to stderr (stdout stays clean
// for --json), the animated renderer only on an interactive terminal.
import { Listr, ListrLogger, PRESET_TIMER, PRESET_TIMESTAMP, ProcessOutput, type ListrTask } from 'listr2';

export type RendererChoice = 'default' | 'simple' | 'verbose' | 'silent';

/** Animated tree on a terminal; one line per event when piped or under CI. */
export function chooseRenderer(options: { json?: boolean; quiet?: boolean } = {}): RendererChoice {
  if (options.quiet) return 'silent';
  if (options.json) return 'simple';
  return process.stderr.isTTY && !process.env.CI ? 'default' : 'simple';
}

export function createTaskList<Ctx extends object>(tasks: ListrTask<Ctx>[], renderer: RendererChoice, ctx: Ctx): Listr<Ctx> {
  const logger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });
  return new Listr<Ctx>(tasks, {
    ctx,
    exitOnError: true,
    registerSignalListeners: false,
    renderer,
    fallbackRenderer: 'simple',
    rendererOptions: {
      logger,
      timer: PRESET_TIMER,
      // a finished phase folds to one line, so a build's tree stays short; the duration report lists every stage
      collapseSubtasks: true,
      collapseSkips: false,
      showSkipMessage: true,
      formatOutput: 'truncate',
    },
    fallbackRendererOptions: { logger, timer: PRESET_TIMER },
    // --verbose: every output line with a time stamp
    ...(renderer === 'verbose' ? { rendererOptions: { logger, timer: PRESET_TIMER, timestamp: PRESET_TIMESTAMP, logTitleChange: true } } : {}),
  } as never);
}
