import { createRequire as __createRequire } from 'node:module';const require = __createRequire(import.meta.url);
import {
  debug,
  error,
  exitCodeFor,
  group,
  info,
  readActionInputs,
  runPipeline,
  setFailed,
  setOutput,
  setSecret,
  summary,
  warning
} from "./chunks/chunk-MLGXLWQF.js";

// src/host/action-host.ts
var ActionHost = class {
  setSecret(value) {
    setSecret(value);
  }
  debug(message) {
    debug(message);
  }
  info(message) {
    info(message);
  }
  warning(message) {
    warning(message);
  }
  error(message) {
    error(message);
  }
  group(name, fn) {
    return group(name, fn);
  }
  setOutput(name, value) {
    setOutput(name, value);
  }
  async writeSummary(summary2) {
    if (!process.env.GITHUB_STEP_SUMMARY) {
      info(summary2.text);
      return;
    }
    await summary.addRaw(summary2.markdown, true).write();
  }
};

// src/main.ts
async function run() {
  const result = await runPipeline(new ActionHost(), readActionInputs());
  if (exitCodeFor(result.status) !== 0) setFailed(`deployment ${result.status}`);
}

// src/index.ts
await run();
