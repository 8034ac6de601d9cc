import { CommanderError, type Command, type Option } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';

/**
 * What the real CLI accepts, asked of the real commander program: a deploy file's command line
 * is parsed by `buildProgram()` exactly as `bellows` would parse it, with every command's action
 * replaced by nothing. So a renamed flag, a removed command, a wrong `--executor` choice, a
 * missing mandatory option or argument, an extra argument and a value a flag's parser refuses
 * all fail here as they would at start-up, with the CLI's own message.
 */
export async function cliRefusal(argv: readonly string[]): Promise<string | null> {
  const program = inert(buildProgram());
  const saved = { ...process.env };
  // The test runner's own environment (DATABASE_URL, TEMPORAL_ADDRESS) must not stand in for a
  // flag the command line lacks; and the executor flags' hook exports flags into process.env.
  for (const name of optionEnvNames()) delete process.env[name];
  try {
    await program.parseAsync(['node', 'bellows', ...argv]);
    return null;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return null;
      if (err.code === 'commander.help') return 'no command given';
      return err.message.replace(/^error: /, '').replace(/\n/g, ' ');
    }
    return (err as Error).message;
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

/** A program that parses but does nothing, prints nothing and never exits the process. */
function inert(program: Command): Command {
  for (const command of everyCommand(program)) {
    command.configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} }).exitOverride();
    // Only leaves get an action: on a command with subcommands an action would take the
    // subcommand's name as its own argument.
    if (command.commands.length === 0) command.action(() => {});
  }
  return program;
}

export function everyCommand(command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommand)];
}

export function everyOption(): Option[] {
  return everyCommand(buildProgram()).flatMap((command) => [...command.options]);
}

/** The environment variables the CLI's options read (commander's `.env()`). */
export function optionEnvNames(): Set<string> {
  return new Set(everyOption().flatMap((option) => (option.envVar ? [option.envVar] : [])));
}

/** `bellows <name>`'s option `--<flag>`, or undefined when there is no such command or option. */
export function commandOption(name: string, flag: string): Option | undefined {
  return buildProgram()
    .commands.find((command) => command.name() === name)
    ?.options.find((option) => option.long === flag);
}

/** The subcommand an argument list runs, past the program's own options and their values. */
export function subcommandOf(argv: readonly string[]): string | undefined {
  const program = buildProgram();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) return arg;
    const option = program.options.find((o) => o.long === arg || o.short === arg);
    if (option && (option.required || option.optional)) i++;
  }
  return undefined;
}
