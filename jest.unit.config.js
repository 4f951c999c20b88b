// The unit project alone: what mutation testing runs against each mutant (integration
// tests need the test bed and are too slow to run per mutant). Tests of the bundled dist/
// are left out: mutants live in src/, and dist/ is rebuilt only by `npm run package`.
import config from './jest.config.js'

const unit = config.projects.find(project => project.displayName === 'unit')
export default {
  ...unit,
  projects: undefined,
  testPathIgnorePatterns: ['/node_modules/', '/__tests__/unit/interface.test.ts']
}
