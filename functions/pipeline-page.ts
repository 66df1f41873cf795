import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { logger } from "./lib/logger.js";
import { errorPage } from "./page/responses.js";
import { routePage } from "./page/routes.js";

/**
 * `GET /app/{tenantId}` (the pipeline), `GET /app/{tenantId}/opportunities/{opportunityId}`,
 * `POST .../actions`, `GET /app/{tenantId}/enter?link=` (a viewer link becomes a session cookie):
 * server-rendered pages for sales managers, behind viewer links instead of request signatures.
 */
export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use({
    onError: async (request) => {
      logger.error("page failed", { error: request.error as Error });
      request.response = errorPage();
    },
  })
  .handler((event: APIGatewayProxyEventV2, context: Context) => routePage(event, context));
