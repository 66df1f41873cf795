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
let template: Json;

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
  template = packagedTemplate(dir);
  resources = template.Resources;
}, 240_000);

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

describe("a deploy that works the first time (the packaged template)", () => {
  const functionIds = () =>
    Object.entries(resources)
      .filter(([, resource]) => resource.Type === "AWS::Lambda::Function")
      .map(([id]) => id);

  it("deploys each function from its own artifact", () => {
    const keys = functionIds().map((id) => resources[id]?.Properties.Code.S3Key as string);
    expect(keys.length).toBeGreaterThan(1);
    expect(new Set(keys).size).toBe(keys.length);
    for (const id of functionIds()) {
      const name = id.replace(/LambdaFunction$/, "");
      expect(resources[id]?.Properties.Code.S3Key, id).toMatch(
        new RegExp(`/${name[0]?.toLowerCase()}${name.slice(1)}\\.zip$`),
      );
    }
  });

  it("creates no role besides the functions' own", () => {
    const roles = Object.entries(resources).filter(([, resource]) => resource.Type === "AWS::IAM::Role");
    expect(roles.map(([id]) => id).sort()).toEqual(
      functionIds()
        .map((id) => id.replace(/LambdaFunction$/, "IamRoleLambdaExecution"))
        .sort(),
    );
    expect(resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it("keeps the table on stack removal and replacement", () => {
    const table = resources.QuotesyncTable as Resource & Record<string, Json>;
    expect(table.DeletionPolicy).toBe("Retain");
    expect(table.UpdateReplacePolicy).toBe("Retain");
    // Roles and alarms name the table by its name; only the stream mapping needs the resource.
    expect(JSON.stringify(resources.GetStatusIamRoleLambdaExecution)).toContain(":table/quotesync-ci");
  });

  it("reserves no concurrency for the scheduled function or the delivery retry pass unless asked to", () => {
    expect(resources.ScheduledLambdaFunction?.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(resources.DeliverRetryLambdaFunction?.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it("lets only the rules that dead-letter there send to the failed-invocations queue", () => {
    const rules = Object.values(resources).filter(
      (resource) =>
        resource.Type === "AWS::Events::Rule" &&
        JSON.stringify(resource.Properties.Targets).includes("FailedInvocationsQueue"),
    );
    // The trigger rule and the Salesforce relay's rule.
    expect(rules.map((rule) => rule.Properties.Name).sort()).toEqual([
      "quotesync-ci-salesforce",
      "quotesync-ci-triggers",
    ]);
    const statements = resources.FailedInvocationsQueuePolicy?.Properties.PolicyDocument.Statement;
    expect(statements).toHaveLength(1);
    expect(statements[0].Principal).toEqual({ Service: "events.amazonaws.com" });
    const patterns = (statements[0].Condition.ArnLike["aws:SourceArn"] as Array<{ "Fn::Sub": string }>).map(
      (pattern) => new RegExp(`^${pattern["Fn::Sub"].replace(/[$.{}]/g, "\\$&").replaceAll("*", "[^/]+")}$`),
    );
    for (const rule of rules) {
      // On a custom bus a rule's ARN names the bus: rule/<bus>/<rule>.
      const busName = rule.Properties.EventBusName as string | { "Fn::GetAtt": [string, string] } | undefined;
      const busText =
        typeof busName === "object" ? resources[busName["Fn::GetAtt"][0]]?.Properties.Name : busName;
      const bus = busText && busText !== "default" ? `${busText}/` : "";
      const arn = `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${bus}${rule.Properties.Name}`;
      expect(
        patterns.some((pattern) => pattern.test(arn)),
        arn,
      ).toBe(true);
    }
    // Nothing broader: each pattern names one of quotesync's rules.
    expect(
      patterns.every(
        (pattern) =>
          !pattern.test(`arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/other`),
      ),
    ).toBe(true);
  });

  it("throttles every HTTP route at the API stage", () => {
    const stage = (resources.HttpApiStage as Resource).Properties;
    const routeKeys = Object.values(resources)
      .filter((resource) => resource.Type === "AWS::ApiGatewayV2::Route")
      .map((resource) => resource.Properties.RouteKey as string);
    expect(routeKeys.length).toBeGreaterThan(0);
    expect(Object.keys(stage.RouteSettings).sort()).toEqual([...routeKeys].sort());
    for (const settings of [stage.DefaultRouteSettings, ...Object.values(stage.RouteSettings)] as Json[]) {
      expect(settings.ThrottlingRateLimit).toBeGreaterThan(0);
      expect(settings.ThrottlingBurstLimit).toBeGreaterThanOrEqual(settings.ThrottlingRateLimit);
    }
    expect(stage.RouteSettings["POST /webhooks/crm/{tenantId}"].ThrottlingRateLimit).toBeGreaterThan(
      stage.RouteSettings["POST /sync/{tenantId}/quotes/{quoteId}/start"].ThrottlingRateLimit,
    );
  });
});
