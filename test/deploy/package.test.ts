import { beforeAll, describe, expect, it } from "vitest";
import { packagedTemplate } from "../../infra/artifacts.js";
import { packagedOnce } from "../support/package.js";

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are free-form JSON, read field by field
type Json = any;

interface Resource {
  Type: string;
  Properties: Record<string, Json>;
}

let dir: string;
let resources: Record<string, Resource>;

/** Every action a function's own role allows, by function logical id prefix (e.g. `GetStatus`). */
function actionsOf(functionId: string): string[] {
  const role = resources[`${functionId}IamRoleLambdaExecution`];
  if (!role) throw new Error(`no role of its own for ${functionId}`);
  return role.Properties.Policies.flatMap((policy: Json) =>
    policy.PolicyDocument.Statement.flatMap((statement: Json) => [statement.Action].flat()),
  );
}

// `serverless package` (osls) builds the CloudFormation template offline (shared with the other
// test/deploy/ files: test/support/package.ts).
beforeAll(async () => {
  dir = await packagedOnce();
  resources = packagedTemplate(dir).Resources;
}, 240_000);

const HTTP_WRITERS = ["CrmWebhook", "CpqWebhook", "StartSync", "StopSync", "PipelinePage"];
const HTTP_READERS = ["GetStatus", "GetAudit", "GetOutbox", "GetDrift"];
const ASYNC = ["TriggerEvent", "Scheduled"];

describe("npx serverless package (no AWS credentials)", () => {
  it("builds the table and every function on nodejs22.x", () => {
    expect(resources.QuotesyncTable?.Type).toBe("AWS::DynamoDB::Table");
    expect(resources.QuotesyncTable?.Properties.TableName).toBe("quotesync-ci");
    for (const id of [...HTTP_WRITERS, ...HTTP_READERS, ...ASYNC]) {
      expect(resources[`${id}LambdaFunction`]?.Properties.Runtime, id).toBe("nodejs22.x");
    }
  });

  it("gives each function its own least-privilege role: readers only read, nobody scans", () => {
    for (const id of [...HTTP_WRITERS, ...HTTP_READERS, ...ASYNC]) {
      expect(resources[`${id}LambdaFunction`]?.Properties.Role).toEqual({
        "Fn::GetAtt": [`${id}IamRoleLambdaExecution`, "Arn"],
      });
      expect(actionsOf(id)).not.toContain("dynamodb:Scan");
      expect(actionsOf(id).some((action) => action === "*" || action === "dynamodb:*")).toBe(false);
    }
    for (const id of HTTP_READERS) {
      const dynamo = actionsOf(id).filter((action) => action.startsWith("dynamodb:"));
      expect(dynamo.sort(), id).toEqual(["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]);
    }
    for (const id of HTTP_WRITERS) expect(actionsOf(id)).toContain("dynamodb:ConditionCheckItem");
    for (const id of [...HTTP_WRITERS, ...HTTP_READERS]) expect(actionsOf(id)).toContain("ssm:GetParameter");
  });

  it("sends failed trigger deliveries and scheduled runs to an SQS queue", () => {
    for (const id of ASYNC) {
      const config = resources[`${id}LambdaEvConf`];
      expect(config?.Type).toBe("AWS::Lambda::EventInvokeConfig");
      expect(JSON.stringify(config?.Properties.DestinationConfig.OnFailure)).toContain(
        "FailedInvocationsQueue",
      );
      expect(actionsOf(id)).toContain("sqs:SendMessage");
    }
    expect(resources.FailedInvocationsQueue?.Type).toBe("AWS::SQS::Queue");
  });

  it("alarms on server errors, function errors, throttles, failed invocations and scheduled-run failures", () => {
    const alarms = Object.values(resources)
      .filter((resource) => resource.Type === "AWS::CloudWatch::Alarm")
      .map((resource) => resource.Properties.AlarmName);
    expect(alarms.sort()).toEqual(
      [
        "quotesync-ci-dynamodb-throttles",
        "quotesync-ci-failed-invocations",
        "quotesync-ci-function-errors",
        "quotesync-ci-scheduled-failures",
        "quotesync-ci-server-errors",
        "quotesync-ci-throttles",
      ].sort(),
    );
  });
});
