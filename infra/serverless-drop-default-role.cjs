// A local Serverless Framework plugin (serverless.yml `plugins`, listed after
// serverless-iam-roles-per-function). The framework compiles a shared role, IamRoleLambdaExecution,
// before that plugin gives every function its own; once none uses it, the shared role is unused
// but would still be created (with its log and queue permissions). This removes it from the
// template then, and leaves it in place (with a warning) while anything still refers to it.
const ROLE = "IamRoleLambdaExecution";

class DropDefaultRole {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = { "before:package:finalize": () => this.drop() };
  }

  drop() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const resources = template.Resources ?? {};
    if (!resources[ROLE]) return;
    const { [ROLE]: _unused, ...others } = resources;
    const rest = JSON.stringify({ ...template, Resources: others });
    if (rest.includes(`"${ROLE}"`)) {
      this.log?.warning?.(`${ROLE} is still referred to: kept`);
      return;
    }
    template.Resources = others;
  }
}

module.exports = DropDefaultRole;
