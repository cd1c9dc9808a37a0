/**
 * The examples at the end of every `sekey admin` and `sekey user` command's help. Each command's
 * examples are command lines that run in order on the installation `sekey demo --keep DIR` leaves
 * (users U1–U4, groups G1 and G2, keys K2000–K2004, files on its desk), so a reader can paste them
 * into a sandbox and see them work. `commandExamples.test.ts` runs every one of them there, each
 * command's on a fresh copy, and fails when one stops working.
 * @module
 */

/** PINs of the demo's HSMs: shown, since this is a demo, and the examples run with them. */
export const DEMO_PINS = {
  admin: 'demo-admin-pin',
  user: 'demo-user-pin',
  deviceAdmin: 'demo-device-admin-pin',
} as const;

/**
 * Where the examples run, said once in the help of each command: each command's examples on a fresh
 * `sekey demo --keep DIR`, in the shell set up as the demo's last lines say ({@link demoShellSetup}).
 */
export const EXAMPLES_WORLD = 'examples (on a fresh `sekey demo --keep DIR`, set up as its last lines say):';

/** `path` as one shell word: as it is when it is plain, else in single quotes. */
function shellWord(path: string): string {
  return /^[\w./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
}

/**
 * The shell line that sets up what the examples assume, for the installation in `home` and the
 * factory in `factory` (absolute paths): its environment (home, factory, the demo's PINs), then the
 * demo's desk, where its files are, as the working directory.
 */
export function demoShellSetup(home: string, factory: string): string {
  return (
    `export SEKEY_HOME=${shellWord(home)} SEKEY_FACTORY=${shellWord(factory)} ` +
    `SEKEY_ADMIN_PIN=${DEMO_PINS.admin} SEKEY_USER_PIN=${DEMO_PINS.user}; cd ${shellWord(`${home}/desk`)}`
  );
}

/** The examples section of a command's help: a blank line, the heading, one indented line each. */
export function examplesHelp(examples: readonly string[], heading: string = EXAMPLES_WORLD): string {
  return ['', heading, ...examples.map((line) => `  ${line}`)].join('\n');
}

/**
 * How an installation starts, shown by `sekey factory --help` and `sekey admin init --help`: a
 * factory beside the new installation (never inside it), then the admin HSM. Run in an empty folder.
 */
export const SETUP_EXAMPLES: readonly string[] = [
  'sekey factory init --dir ../factory',
  'sekey admin init --home office --factory ../factory --admin-pin 2468-admin --user-pin 1357-user',
];

/** The heading of {@link SETUP_EXAMPLES}. */
export const SETUP_HEADING = 'examples (in an empty folder; the factory goes beside it, never inside):';
