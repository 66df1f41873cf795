import { Logger } from "@aws-lambda-powertools/logger";

/** The functions' structured logger: JSON lines; level from POWERTOOLS_LOG_LEVEL / LOG_LEVEL. */
export const logger = new Logger({
  serviceName: "quotesync",
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? "INFO") as "INFO",
});
