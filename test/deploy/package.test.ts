import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

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

// `serverless package` (osls) builds the CloudFormation template offline; it takes ~15-25 s here.
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "quotesync-package-"));
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_EC2_METADATA_DISABLED: "true" };
  for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"])
    delete env[name];
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(ROOT, "node_modules/osls/bin/serverless.js"), "package", "--package", dir, "--stage", "ci"],
      { cwd: ROOT, env, encoding: "utf8", timeout: 180_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(),
    );
  });
  const template = JSON.parse(readFileSync(join(dir, "cloudformation-template-update-stack.json"), "utf8"));
  resources = template.Resources;
}, 180_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const HTTP_WRITERS = ["CrmWebhook", "CpqWebhook", "StartSync", "StopSync", "PipelinePage"];
const HTTP_READERS = ["GetStatus", "GetAudit", "GetOutbox", "GetDrift"];
const ASYNC = ["TriggerEvent", "Scheduled", "DeliverRetry"];
const DELIVERY = ["Deliver", "DeliverRetry", "RetryDelivery"];

describe("npx serverless package (no AWS credentials)", () => {
  it("builds the table and every function on nodejs22.x", () => {
    expect(resources.QuotesyncTable?.Type).toBe("AWS::DynamoDB::Table");
    expect(resources.QuotesyncTable?.Properties.TableName).toBe("quotesync-ci");
    for (const id of [...HTTP_WRITERS, ...HTTP_READERS, ...ASYNC, ...DELIVERY]) {
      expect(resources[`${id}LambdaFunction`]?.Properties.Runtime, id).toBe("nodejs22.x");
    }
  });

  it("gives each function its own least-privilege role: readers only read, nobody scans", () => {
    for (const id of [...HTTP_WRITERS, ...HTTP_READERS, ...ASYNC, ...DELIVERY]) {
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
        "quotesync-ci-delivery-stream-failures",
        "quotesync-ci-dynamodb-throttles",
        "quotesync-ci-mirrors-parked",
        "quotesync-ci-failed-invocations",
        "quotesync-ci-function-errors",
        "quotesync-ci-scheduled-failures",
        "quotesync-ci-server-errors",
        "quotesync-ci-throttles",
      ].sort(),
    );
  });

  it("feeds deliver from the table's stream: outbox INSERTs only, bisect on error, bounded retries, failures to SQS", () => {
    const table = resources.QuotesyncTable?.Properties;
    expect(table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: "NEW_IMAGE" });
    expect(table?.TimeToLiveSpecification).toEqual({ AttributeName: "expiresAt", Enabled: true });
    const mapping = Object.values(resources).find(
      (resource) =>
        resource.Type === "AWS::Lambda::EventSourceMapping" &&
        JSON.stringify(resource.Properties.FunctionName).includes("DeliverLambdaFunction"),
    )?.Properties;
    expect(mapping?.EventSourceArn).toEqual({ "Fn::GetAtt": ["QuotesyncTable", "StreamArn"] });
    expect(mapping?.BisectBatchOnFunctionError).toBe(true);
    expect(mapping?.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
    expect(mapping?.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(mapping?.MaximumRecordAgeInSeconds).toBeGreaterThan(0);
    expect(JSON.stringify(mapping?.DestinationConfig)).toContain("DeliveryStreamFailuresQueue");
    const pattern = JSON.parse(mapping?.FilterCriteria.Filters[0].Pattern);
    expect(pattern).toEqual({
      eventName: ["INSERT"],
      dynamodb: { NewImage: { mirror: { M: [{ exists: true }] } } },
    });
  });

  it("lets the delivery functions write only delivery queues, audit entries and connector records", () => {
    for (const id of DELIVERY) {
      const role = resources[`${id}IamRoleLambdaExecution`];
      const writes = role?.Properties.Policies.flatMap((policy: Json) =>
        policy.PolicyDocument.Statement.filter((statement: Json) =>
          [statement.Action].flat().some((action: string) => action === "dynamodb:PutItem"),
        ),
      );
      expect(writes, id).toHaveLength(1);
      expect(writes[0].Condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]).toEqual([
        "T#*#D#*",
        "T#*#A#*",
        "T#*#CX",
      ]);
      expect(actionsOf(id)).not.toContain("dynamodb:ConditionCheckItem");
    }
  });
});

describe("the trigger bus", () => {
  it("is a dedicated event bus with a resource policy, and the trigger rule listens on it alone", () => {
    const bus = resources.TriggerEventBus;
    expect(bus?.Type).toBe("AWS::Events::EventBus");
    expect(bus?.Properties.Name).toBe("quotesync-ci-triggers");
    const policy = resources.TriggerEventBusPolicy;
    expect(policy?.Type).toBe("AWS::Events::EventBusPolicy");
    expect(policy?.Properties.EventBusName).toEqual({ Ref: "TriggerEventBus" });
    expect(policy?.Properties.Statement).toMatchObject({
      Effect: "Allow",
      Action: "events:PutEvents",
      Resource: { "Fn::GetAtt": ["TriggerEventBus", "Arn"] },
    });
    const rules = Object.values(resources).filter((resource) => resource.Type === "AWS::Events::Rule");
    const triggerRules = rules.filter((rule) =>
      JSON.stringify(rule.Properties.Targets).includes("TriggerEventLambdaFunction"),
    );
    expect(triggerRules).toHaveLength(1);
    expect(triggerRules[0]?.Properties.EventBusName).toEqual({ "Fn::GetAtt": ["TriggerEventBus", "Name"] });
    expect(triggerRules[0]?.Properties.EventPattern["detail-type"]).toEqual([
      "cart.finalized",
      "quote.accepted",
    ]);
  });
});
