// jest setupFiles for the integration project: the test bed's endpoints and secrets into
// process.env, so tests and the code under test see them (global setup has started the test bed).
import { existsSync } from 'node:fs'
import { loadTestbedEnv, TESTBED_ENV_FILE } from '../helpers/testbed-env.mjs'

if (existsSync(TESTBED_ENV_FILE)) loadTestbedEnv()
