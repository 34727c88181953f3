import { subcommandHelp, type SubCommand } from './admin-command.ts';
import { DELIVERIES_HELP, deliveriesCommands, runDeliveries } from './deliveries-command.ts';
import { runServe, SERVE_HELP } from './serve-command.ts';
import { KEY_HELP, keyCommands, runKey, runUser, USER_HELP, userCommands } from './user-command.ts';
import { runWebhook, WEBHOOK_HELP, webhookCommands } from './webhook-command.ts';
import { VERSION } from '../version.ts';

/** One `bucketbell <command>`: its line in the command list, its `--help`, and what runs it. */
export interface Command {
  readonly summary: string;
  readonly help: string;
  /** The subcommands of an admin command group (`webhook add`, ...), each with its usage. */
  readonly subcommands?: Readonly<Record<string, SubCommand>>;
  readonly run: (args: string[], env: NodeJS.ProcessEnv) => Promise<number>;
}

const VERSION_HELP = `Usage: bucketbell version

Print the version of bucketbell (also: bucketbell --version).
`;

const HELP_HELP = `Usage: bucketbell help [COMMAND [SUBCOMMAND]]

Print the list of commands, or the help of one command or subcommand (as 'bucketbell COMMAND --help').
`;

function group(
  summary: string,
  help: string,
  subcommands: Readonly<Record<string, SubCommand>>,
  run: Command['run'],
): Command {
  return { summary: `${summary} (${Object.keys(subcommands).join(', ')})`, help, subcommands, run };
}

/** Every command; `bucketbell --help`, the help texts and the documentation test are built from this. */
export const COMMANDS: Readonly<Record<string, Command>> = {
  serve: { summary: 'start the S3 API and the admin API', help: SERVE_HELP, run: runServe },
  user: group('manage users', USER_HELP, userCommands, runUser),
  key: group('manage access keys', KEY_HELP, keyCommands, runKey),
  webhook: group('manage bucket webhooks', WEBHOOK_HELP, webhookCommands, runWebhook),
  deliveries: group("a webhook's deliveries log", DELIVERIES_HELP, deliveriesCommands, runDeliveries),
  version: { summary: 'print the version', help: VERSION_HELP, run: runVersion },
  help: { summary: "print this help, or 'bucketbell help <command>'", help: HELP_HELP, run: runHelp },
};

const NAME_WIDTH = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 1;

export const MAIN_HELP = `bucketbell ${VERSION}: S3-compatible object storage with bucket webhooks that are never lost

Usage: bucketbell <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(NAME_WIDTH)}${command.summary}`)
  .join('\n')}

Run 'bucketbell <command> --help' for a command's options.
`;

function isHelpFlag(arg: string | undefined): boolean {
  return arg === '--help' || arg === '-h';
}

/** The help of a command, or of its subcommand when `args` names one. */
function helpOf(command: Command, args: readonly string[]): string {
  const sub = args[0] === undefined ? undefined : command.subcommands?.[args[0]];
  return sub === undefined ? command.help : subcommandHelp(command.help, sub);
}

function unknownCommand(name: string): number {
  process.stderr.write(`bucketbell: unknown command '${name}'\n\n${MAIN_HELP}`);
  return 2;
}

function runVersion(args: string[]): Promise<number> {
  if (args.length > 0) {
    process.stderr.write(`bucketbell version: unexpected argument '${args[0]!}'\n\n${VERSION_HELP}`);
    return Promise.resolve(2);
  }
  process.stdout.write(`${VERSION}\n`);
  return Promise.resolve(0);
}

function runHelp(args: string[]): Promise<number> {
  const [topic, ...rest] = args;
  if (topic === undefined) {
    process.stdout.write(MAIN_HELP);
    return Promise.resolve(0);
  }
  const command = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
  if (command === undefined) return Promise.resolve(unknownCommand(topic));
  process.stdout.write(helpOf(command, rest));
  return Promise.resolve(0);
}

/** Entry point of the `bucketbell` command; returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || isHelpFlag(name)) {
    process.stdout.write(MAIN_HELP);
    return 0;
  }
  if (name === '--version') return runVersion(rest);
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) return unknownCommand(name);
  if (rest.some(isHelpFlag)) {
    process.stdout.write(helpOf(command, rest));
    return 0;
  }
  return command.run(rest, env);
}
