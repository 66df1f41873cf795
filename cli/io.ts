import { readFile } from "node:fs/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";

/** What a command reads and writes, injected so tests run commands in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  stdin(): Promise<Buffer>;
  env: NodeJS.ProcessEnv;
}

/** Bad usage: exit 2 with a one-line reason. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** The command ran and failed (unreachable server, refused request, invalid file): exit 1. */
export class CommandFailed extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CommandFailed";
  }
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    async stdin() {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin)
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      return Buffer.concat(chunks);
    },
    env: process.env,
  };
}

/** Reads a file's bytes, or stdin for `-`; a missing file is a usage error naming the option. */
export async function readInput(io: CliIo, file: string, option: string): Promise<Buffer> {
  try {
    return file === "-" ? await io.stdin() : await readFile(file);
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new UsageError(`cannot read ${option} ${file}: ${reason}`);
  }
}

/**
 * Parses a command's `--options` strictly (no positionals); an unknown or malformed option is a
 * usage error.
 */
export function parseOptions<O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * A secret from `--<option> <value>` (visible in shell history and `ps`), `--<option>-file <file>`
 * (first line, trailing newline dropped) or the environment variable `envName`, in that order;
 * giving both options is a usage error. Undefined when none is given.
 */
export async function readSecret(
  io: CliIo,
  values: Record<string, unknown>,
  option: string,
  envName: string,
): Promise<string | undefined> {
  const inline = values[option];
  const file = values[`${option}-file`];
  if (typeof inline === "string" && typeof file === "string") {
    throw new UsageError(`give either --${option} or --${option}-file, not both`);
  }
  if (typeof inline === "string") return inline;
  if (typeof file === "string") {
    const text = (await readInput(io, file, `--${option}-file`)).toString("utf8");
    const secret = text.replace(/\r?\n$/, "");
    if (secret === "" || /[\r\n]/.test(secret)) {
      throw new UsageError(`--${option}-file ${file} must hold the secret on one line`);
    }
    return secret;
  }
  const fromEnv = io.env[envName];
  return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
}
