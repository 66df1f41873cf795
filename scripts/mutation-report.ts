/**
 * `npm run mutation` ends here: reads the JSON reports of the two Stryker runs
 * (`reports/mutation/domain.json`, `reports/mutation/dynamodb.json`) and writes `MUTATION.md`: the
 * score per file and per group, the command and the date, the equivalent mutants (listed with why
 * in `mutation/equivalent-mutants.json`, and left out of the score) and what survives.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end?: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}
/**
 * A mutant Stryker cannot tell from the original by any test: why, and where (file, line, mutator,
 * replacement; `column`, and `endColumn` where needed, when the line holds other mutants with that
 * mutator and replacement).
 */
interface Equivalent {
  file: string;
  line: number;
  column?: number;
  endColumn?: number;
  mutator: string;
  replacement: string;
  why: string;
}

const RUNS = [
  { name: "domain", config: "mutation/stryker.domain.config.mjs", report: "reports/mutation/domain.json" },
  {
    name: "dynamodb",
    config: "mutation/stryker.dynamodb.config.mjs",
    report: "reports/mutation/dynamodb.json",
  },
] as const;
const GROUPS = ["domain/engine/", "domain/", "infra/dynamodb/"] as const;

interface Tally {
  killed: number;
  survived: number;
  noCoverage: number;
  equivalent: number;
  other: number;
}
const empty = (): Tally => ({ killed: 0, survived: 0, noCoverage: 0, equivalent: 0, other: 0 });
/** Killed share of the mutants that are not equivalent (timeouts count as killed, as Stryker counts them). */
const score = (t: Tally) => {
  const counted = t.killed + t.survived + t.noCoverage;
  return counted === 0 ? "—" : `${((100 * t.killed) / counted).toFixed(1)} %`;
};

function main(): void {
  const equivalents = loadEquivalents();
  const tallies = tallyReports(equivalents);
  writeFileSync(`${root}MUTATION.md`, renderReport(tallies, equivalents));
  console.log(`MUTATION.md written (${tallies.survivors.length} survivors)`);
}

/** The equivalent mutants listed in `mutation/equivalent-mutants.json` (none when it is missing). */
function loadEquivalents(): Equivalent[] {
  const equivalentsPath = `${root}mutation/equivalent-mutants.json`;
  return existsSync(equivalentsPath) ? JSON.parse(readFileSync(equivalentsPath, "utf8")) : [];
}

/** What the reports found, per file, with the survivors and when each report was written. */
interface Tallies {
  files: Map<string, Tally>;
  survivors: Array<{ file: string; mutant: Mutant }>;
  dates: string[];
}

/** Counts the mutants of every report that exists, per file and by status. */
function tallyReports(equivalents: Equivalent[]): Tallies {
  const isEquivalent = (file: string, mutant: Mutant) =>
    equivalents.some(
      (e) =>
        e.file === file &&
        e.line === mutant.location.start.line &&
        (e.column === undefined || e.column === mutant.location.start.column) &&
        (e.endColumn === undefined || e.endColumn === mutant.location.end?.column) &&
        e.mutator === mutant.mutatorName &&
        e.replacement === (mutant.replacement ?? ""),
    );
  const files = new Map<string, Tally>();
  const survivors: Array<{ file: string; mutant: Mutant }> = [];
  const dates: string[] = [];
  for (const run of RUNS) {
    const path = `${root}${run.report}`;
    if (!existsSync(path)) continue;
    dates.push(`${run.name}: ${statSync(path).mtime.toISOString().slice(0, 16).replace("T", " ")} UTC`);
    const report = JSON.parse(readFileSync(path, "utf8")) as Report;
    for (const [file, { mutants }] of Object.entries(report.files)) {
      const tally = files.get(file) ?? empty();
      for (const mutant of mutants) {
        if (isEquivalent(file, mutant)) tally.equivalent++;
        else if (mutant.status === "Killed" || mutant.status === "Timeout") tally.killed++;
        else if (mutant.status === "Survived") {
          tally.survived++;
          survivors.push({ file, mutant });
        } else if (mutant.status === "NoCoverage") {
          tally.noCoverage++;
          survivors.push({ file, mutant });
        } else tally.other++;
      }
      files.set(file, tally);
    }
  }
  return { files, survivors, dates };
}

const add = (a: Tally, b: Tally): Tally => ({
  killed: a.killed + b.killed,
  survived: a.survived + b.survived,
  noCoverage: a.noCoverage + b.noCoverage,
  equivalent: a.equivalent + b.equivalent,
  other: a.other + b.other,
});
const row = (name: string, t: Tally) =>
  `| ${name} | ${score(t)} | ${t.killed} | ${t.survived} | ${t.noCoverage} | ${t.equivalent} | ${t.other} |`;
const HEADER = [
  "| file | score | killed | survived | no coverage | equivalent | errors, ignored |",
  "|---|---|---|---|---|---|---|",
];

/** MUTATION.md: the run, the scores by group and by file, the equivalent mutants, what survives. */
function renderReport({ files, survivors, dates }: Tallies, equivalents: Equivalent[]): string {
  const notesPath = `${root}mutation/run-notes.md`;
  const lines = [
    "# Mutation testing",
    "",
    "The latest run of `npm run mutation` (StrykerJS with its vitest runner: " +
      RUNS.map((run) => `\`npx stryker run ${run.config}\``).join(", then ") +
      ", then `tsx scripts/mutation-report.ts`), on 2 cores with `concurrency: 2`.",
    `Reports written: ${dates.join("; ") || "none"}. How it is set up and why: [docs/mutation.md](docs/mutation.md).`,
    "The score is the killed share of the mutants that are not equivalent (a timeout counts as killed);",
    "equivalent mutants are listed below with why, and left out.",
    "",
    "## By group",
    "",
    ...HEADER,
    ...groupRows(files),
    "",
    "## By file",
    "",
    ...HEADER,
    ...[...files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([file, t]) => row(`\`${file}\``, t)),
    "",
    "## Equivalent mutants",
    "",
    equivalentsTable(equivalents),
    "",
    "## What survives, by mutator",
    "",
    "| group, mutator | survivors (incl. no coverage) |",
    "|---|---|",
    ...survivorsByMutator(survivors),
    "",
    "Each survivor, with its line and replacement: the HTML reports `reports/mutation/domain.html` and",
    "`reports/mutation/dynamodb.html` written by the same run (not committed).",
    "",
    // What the figures above do not say by themselves (which files a partial run covered, what
    // changed since): kept in its own file, so regenerating the tables does not lose it.
    ...(existsSync(notesPath) ? [readFileSync(notesPath, "utf8").trimEnd(), ""] : []),
  ];
  return lines.join("\n");
}

/** One row per group of files (`domain/` without `domain/engine/`). */
function groupRows(files: Map<string, Tally>): string[] {
  return GROUPS.map((group) => {
    const inGroup = [...files].filter(
      ([file]) => file.startsWith(group) && (group !== "domain/" || !file.startsWith("domain/engine/")),
    );
    return row(
      group === "domain/" ? "domain/ (outside engine/)" : group,
      inGroup.reduce((t, [, f]) => add(t, f), empty()),
    );
  });
}

function equivalentsTable(equivalents: Equivalent[]): string {
  return equivalents.length === 0
    ? "None listed yet."
    : [
        "| file | line | mutator | replacement | why it is equivalent |",
        "|---|---|---|---|---|",
        ...equivalents.map(
          (e) =>
            `| \`${e.file}\` | ${e.column === undefined ? e.line : `${e.line}:${e.column}`} | ${e.mutator} | \`${e.replacement.replaceAll("|", "\\|")}\` | ${e.why} |`,
        ),
      ].join("\n");
}

/** Survivors counted by group and mutator, most first. */
function survivorsByMutator(survivors: Array<{ file: string; mutant: Mutant }>): string[] {
  const byMutator = new Map<string, number>();
  for (const { file, mutant } of survivors) {
    const group = GROUPS.find((g) => file.startsWith(g)) ?? "other";
    const key = `${group} ${mutant.mutatorName}`;
    byMutator.set(key, (byMutator.get(key) ?? 0) + 1);
  }
  return [...byMutator].sort((a, b) => b[1] - a[1]).map(([key, count]) => `| ${key} | ${count} |`);
}

main();
