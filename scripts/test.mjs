// `npm test`: the typecheck and the lint run beside the test suite instead of before it (on a
// 2-core machine they fill the time the suite spends waiting on DynamoDB Local, child processes
// and the browser). Their output is printed once each finishes, not interleaved with the
// suite's; the command fails when any of the three fails. Arguments go to `vitest run`.
import { spawn } from "node:child_process";

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

function run(name, command, args, { buffered }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: buffered ? ["ignore", "pipe", "pipe"] : "inherit" });
    const chunks = [];
    if (buffered) {
      child.stdout.on("data", (chunk) => chunks.push(chunk));
      child.stderr.on("data", (chunk) => chunks.push(chunk));
    }
    child.on("error", (error) => {
      process.stderr.write(`${name}: ${error.message}\n`);
      resolve(1);
    });
    child.on("close", (code, signal) => {
      const output = Buffer.concat(chunks).toString();
      const status = code ?? (signal ? 1 : 0);
      if (buffered)
        process.stdout.write(`\n> ${name}${status === 0 ? "" : ` (failed, exit ${status})`}\n${output}`);
      resolve(status);
    });
  });
}

const results = await Promise.all([
  run("typecheck: tsc --noEmit", bin("tsc"), ["--noEmit"], { buffered: true }),
  run("lint: biome check .", bin("biome"), ["check", "."], { buffered: true }),
  run("vitest run", bin("vitest"), ["run", ...process.argv.slice(2)], { buffered: false }),
]);
process.exit(results.find((code) => code !== 0) ?? 0);
