// The composition root: the real stages wired to the pipeline's ports. The only module that
// knows both the pipeline and the stage implementations; the entry points (main.ts, cli.ts) use it.
import { buildAndResolve } from './build/index.js'
import { EnvRepository } from './gitops/index.js'
import { Cluster, deployAnnotations, envRenderer } from './kube/index.js'
import { type ClusterPort, type Stages } from './pipeline/ports.js'
import { DeploymentRecorder } from './report/deployments.js'

export const realStages: Stages = {
  build: buildAndResolve,
  openEnvRepo: (config, host, render) => EnvRepository.open(config, host, { render }),
  connectCluster: async (config, host) => clusterPort(await Cluster.connect(config, host)),
  startDeployment: (config, host, ref) => DeploymentRecorder.start(config, host, ref),
  renderer: config => envRenderer(config, config.kube.namespace ?? 'default')
}

/** The cluster records a deploy stamp as its gitops-push-deploy/* annotations. */
function clusterPort(cluster: Cluster): ClusterPort {
  return {
    validate: files => cluster.validate(files),
    drift: files => cluster.drift(files),
    lock: (key, holder, deadline) => cluster.lock(key, holder, deadline),
    apply: (files, stamp, deadline, signal) => cluster.apply(files, deployAnnotations(stamp), deadline, signal),
    waitForRollout: (applied, deadline, since, signal) => cluster.waitForRollout(applied, deadline, since, signal),
    rollback: (previousFiles, applied, deadline, stamp) =>
      cluster.rollback(previousFiles, applied, deadline, deployAnnotations(stamp)),
    prune: (applied, deadline) => cluster.prune(applied, deadline),
    render: cluster.render,
    close: () => cluster.close()
  }
}
