// Types of testbed-env.mjs (plain JavaScript, so that benchmarks and jest's setup run it as is).

/** This checkout's root folder. */
export declare const REPO_ROOT: string

export declare const TESTBED_ENV_FILE: string

export declare function parseTestbedEnv(
  text: string,
  outer?: Record<string, string | undefined>
): Record<string, string>

export declare function readTestbedEnv(file?: string): Record<string, string>

export declare function loadTestbedEnv(file?: string): Record<string, string>
