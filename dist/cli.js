#!/usr/bin/env node
import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);
import {
  CliUsageError,
  exitCodeFor,
  helpText,
  parseCliArgs,
  runPipeline
} from "./chunks/chunk-MLGXLWQF.js";

// src/host/redactor.ts
var Redactor = class {
  secrets = /* @__PURE__ */ new Set();
  add(value) {
    for (const part of [value, ...value.split(/\r?\n/)].map((v) => v.trim())) {
      if (part.length >= 4) this.secrets.add(part);
    }
  }
  redact(text) {
    let result = text;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      result = result.split(secret).join("***");
    }
    return result;
  }
};

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
    process.stdout.write(helpText());
    return 0;
  }
  const host = new CliHost();
  const result = await runPipeline(host, invocation.inputs);
  process.stdout.write(host.formatOutputs(invocation.json));
  return exitCodeFor(result.status);
}

// src/cli-main.ts
process.exitCode = await runCli(process.argv.slice(2));
