import { App } from 'cdk8s';
import { AgentCancellation } from './constructs/agent-cancellation';
import { ConfigError, loadConfigFile, resolveConfig } from './config/resolve-config';

/** Configuration file to synthesize; unset means the defaults (the user's card). */
const CONFIG_ENV = 'AGENT_CANCELLATION_CONFIG';

function main(): void {
  const file = process.env[CONFIG_ENV];
  // Everything is validated before App.synth() touches the output directory, so bad config writes nothing.
  const config = file ? loadConfigFile(file) : resolveConfig({}, 'defaults');
  const app = new App();
  new AgentCancellation(app, 'agent-cancellation', { config, disableResourceNameHashes: true });
  app.synth();
}

try {
  main();
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : `synth failed: ${(e as Error).message}`);
  process.exit(1);
}
