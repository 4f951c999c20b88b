// The unit project alone: what mutation testing runs against each mutant (integration
// tests need the test bed and are too slow to run per mutant).
import config from './jest.config.js'

const unit = config.projects.find(project => project.displayName === 'unit')
export default { ...unit, projects: undefined }
