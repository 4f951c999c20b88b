#!/usr/bin/env node
import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);
import {
  CliUsageError,
  ImageReferenceError,
  ProblemsError,
  Redactor,
  cancelOnSignals,
  descriptorFiles,
  exitCodeFor,
  helmRenderer,
  helpText,
  isValidDigest,
  isValidTag,
  kustomizeRenderer,
  parseCliArgs,
  parseImageRepository,
  provenEdit,
  realStages,
  removeAll,
  renderFiles,
  renderOnce,
  requestIdToken,
  runContext,
  runPipeline
} from "./chunks/chunk.js";

// src/cli-edit.ts
import { parseArgs } from "node:util";

// src/gitops/local.ts
import { lstatSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
function localTree(dir) {
  const tree = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const relative = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/");
    if (relative === ".git" || relative.startsWith(".git/")) continue;
    const mode = entry.isSymbolicLink() ? "120000" : "100644";
    if (entry.isFile() || entry.isSymbolicLink()) tree.push({ path: relative, mode, type: "blob", sha: "" });
    else if (entry.isDirectory()) tree.push({ path: relative, mode: "040000", type: "tree", sha: "" });
  }
  return tree;
}
function readLocalFiles(dir, entries, warn) {
  const files = [];
  for (const entry of entries) {
    const bytes = readFileSync(path.join(dir, entry.path));
    try {
      files.push({
        path: entry.path,
        content: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)
      });
    } catch {
      warn(`${entry.path}: skipped, not UTF-8`);
    }
  }
  return files;
}
function writeLocalFiles(dir, files) {
  for (const file of files) {
    const target = path.join(dir, file.path);
    writeFileSync(target, file.content, { mode: lstatSync(target).mode });
  }
}

// src/cli-edit.ts
var EDIT_HELP = `Usage: gitops-push-deploy edit --image REPO --tag TAG [--digest sha256:\u2026] [--pin tag|digest|tag+digest]
                              --env-path PATH [--env-path PATH\u2026] [--dir DIR] [--check] [--json]

Writes the image into the env-repo checkout at DIR (default .), the same edit the action makes,
proven the same way: the files under the env paths are rendered before and after (plain
manifests parsed, kustomizations built with kustomize or kubectl kustomize, Helm charts with helm
template) and the edit is refused when anything but image fields would change. No network.

  --image     Image repository without tag (required).
  --tag       Tag to write (required).
  --digest    Digest to write (sha256:\u2026); needed by --pin digest and tag+digest.
  --pin       tag, digest or tag+digest (default: tag+digest with --digest, else tag).
  --env-path  File or folder under DIR holding the descriptors; repeat for more (required).
  --dir       The env-repo checkout (default: .).
  --check     Write nothing; exit 1 when the edit would change a file.
  --json      Print the change list as JSON on stdout instead of the diff.

Exit status 0 when done (or nothing to change), 1 on a bad flag, when the image is not
referenced, when the render check fails, or with --check when files would change.
`;
var UsageError = class extends ProblemsError {
};
function parseEditArgs(argv) {
  let values;
  try {
    ;
    ({ values } = parseArgs({
      args: argv,
      options: {
        image: { type: "string" },
        tag: { type: "string" },
        digest: { type: "string" },
        pin: { type: "string" },
        "env-path": { type: "string", multiple: true },
        dir: { type: "string", default: "." },
        check: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false }
      },
      strict: true
    }));
  } catch (error) {
    throw new UsageError([error.message]);
  }
  if (values.help) return "help";
  const problems = [];
  let repository = { domain: "", path: "" };
  const image = values.image?.trim() ?? "";
  if (!image) problems.push("--image is required");
  else {
    try {
      repository = parseImageRepository(image);
    } catch (error) {
      if (!(error instanceof ImageReferenceError)) throw error;
      problems.push(`--image "${image}" is not a valid image repository: it ${error.message}`);
    }
  }
  const tag = values.tag?.trim() ?? "";
  if (!tag) problems.push("--tag is required");
  else if (!isValidTag(tag)) problems.push(`--tag "${tag}" is not a valid tag`);
  const digest = values.digest?.trim() ?? "";
  if (digest && !isValidDigest(digest)) problems.push(`--digest "${digest}" is not a digest (sha256:<64 hex>)`);
  const pin = values.pin ?? (digest ? "tag+digest" : "tag");
  if (!["tag", "digest", "tag+digest"].includes(pin))
    problems.push(`--pin "${pin}" must be one of tag, digest, tag+digest`);
  else if (pin !== "tag" && !digest) problems.push(`--pin ${pin} needs --digest`);
  const envPaths = (values["env-path"] ?? []).map((p) => p.trim().replace(/^\.\//, "").replace(/\/+$/, "") || ".");
  if (envPaths.length === 0) problems.push("--env-path is required");
  for (const p of envPaths) {
    if (p.startsWith("/") || p.split("/").includes("..")) {
      problems.push(`--env-path "${p}" must be a path relative to --dir, without ..`);
    }
  }
  if (problems.length > 0) throw new UsageError(problems);
  return { repository, image, tag, digest, pin, envPaths, dir: values.dir, check: values.check, json: values.json };
}
async function runEdit(argv, output = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) }) {
  let args;
  try {
    args = parseEditArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    for (const problem of error.problems) output.stderr(`error: ${problem}
`);
    return 1;
  }
  if (args === "help") {
    output.stdout(EDIT_HELP);
    return 0;
  }
  const warnings = [];
  const warn = (message) => {
    warnings.push(message);
    output.stderr(`warning: ${message}
`);
  };
  try {
    const entries = descriptorFiles(localTree(args.dir), args.envPaths, args.dir);
    const files = readLocalFiles(args.dir, entries, warn);
    const render = renderOnce(
      (files2) => renderFiles(files2, [kustomizeRenderer(), helmRenderer({ namespace: "default" })])
    );
    const edited = await provenEdit(files, args, args.dir, render, warn);
    const changes = edited.changes.map(({ path: path2, line, previous, next }) => ({ path: path2, line, previous, next }));
    if (args.json) {
      output.stdout(`${JSON.stringify({ changed: edited.changed.map((f) => f.path), changes, warnings }, null, 2)}
`);
    } else {
      output.stdout(edited.diff);
    }
    for (const change of changes) output.stderr(`${change.path}:${change.line}: ${change.previous} \u2192 ${change.next}
`);
    if (edited.changed.length === 0) {
      output.stderr(`${args.dir} already holds ${args.image}:${args.tag}: nothing to change
`);
      return 0;
    }
    if (args.check) {
      output.stderr(`${edited.changed.length} file(s) would change (--check: nothing written)
`);
      return 1;
    }
    writeLocalFiles(args.dir, edited.changed);
    output.stderr(`${edited.changed.length} file(s) written
`);
    return 0;
  } catch (error) {
    for (const line of error.message.split("\n")) output.stderr(`error: ${line}
`);
    return 1;
  }
}

// src/host/cli-host.ts
var CliHost = class {
  constructor(write = (text) => process.stderr.write(text)) {
    this.write = write;
  }
  write;
  outputs = /* @__PURE__ */ new Map();
  redactor = new Redactor();
  depth = 0;
  setSecret(value) {
    this.redactor.add(value);
  }
  debug(message) {
    if (process.env.RUNNER_DEBUG === "1") this.line(`debug: ${message}`);
  }
  info(message) {
    this.line(message);
  }
  warning(message) {
    this.line(`warning: ${message}`);
  }
  error(message) {
    this.line(`error: ${message}`);
  }
  async group(name, fn) {
    this.line(`\u25B6 ${name}`);
    this.depth++;
    try {
      return await fn();
    } finally {
      this.depth--;
    }
  }
  setOutput(name, value) {
    this.outputs.set(name, this.redactor.redact(value));
  }
  /** The runner's request by hand: core.getIDToken would print `::add-mask::<token>` to stdout. */
  idToken(audience) {
    return requestIdToken(process.env, audience);
  }
  async writeSummary(summary) {
    this.write(`${this.redactor.redact(summary.text)}
`);
  }
  /** `name=value` lines (multi-line values use GitHub's heredoc form), or one JSON object. */
  formatOutputs(json) {
    if (json) return `${JSON.stringify(Object.fromEntries(this.outputs))}
`;
    let text = "";
    for (const [name, value] of this.outputs) {
      text += value.includes("\n") ? `${name}<<EOF_OUTPUT
${value}
EOF_OUTPUT
` : `${name}=${value}
`;
    }
    return text;
  }
  line(message) {
    const indent = "  ".repeat(this.depth);
    const text = this.redactor.redact(message);
    this.write(
      `${text.split("\n").map((l) => indent + l).join("\n")}
`
    );
  }
};

// src/cli.ts
async function runCli(argv) {
  if (argv[0] === "edit") return runEdit(argv.slice(1));
  let invocation;
  try {
    invocation = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    process.stderr.write(`error: ${error.message}
`);
    return 1;
  }
  if (invocation.help) {
    process.stdout.write(
      `${helpText()}Offline edit of a checkout (no build, no cluster): gitops-push-deploy edit --help
`
    );
    return 0;
  }
  const host = new CliHost();
  for (const warning of invocation.warnings) host.warning(warning);
  const cancellation = cancelOnSignals((line) => host.warning(line));
  try {
    const result = await runPipeline(host, invocation.inputs, realStages, runContext(), cancellation.signal);
    process.stdout.write(host.formatOutputs(invocation.json));
    return exitCodeFor(result.status);
  } finally {
    cancellation.dispose();
    if (cancellation.signal.aborted) removeAll();
  }
}

// src/cli-main.ts
process.exitCode = await runCli(process.argv.slice(2));
