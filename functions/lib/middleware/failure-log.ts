import type { MiddlewareObj } from "@middy/core";
import type { Context } from "aws-lambda";
import { logger } from "../logger.js";
import { recordEvent } from "../metrics.js";

/**
 * What a function the platform invokes (EventBridge, a schedule, a stream) has learnt about its
 * event so far: identifiers only, for its failure line. The handler fills them in as it parses.
 */
export interface EventFacts {
  tenantId?: string;
  source?: string;
  /** The event type, once known: a failure is counted in `Events` by it. */
  eventType?: string;
  /** The sender's event id. */
  eventId?: string;
  /** EventBridge's `detail-type`, where it is not itself the event type. */
  detailType?: string;
}

/** What `failureLog` adds to the context. */
export interface EventFactsContext {
  facts: EventFacts;
}

/**
 * The error handling of a function the platform retries — the counterpart of the HTTP stack's
 * request log and error mapper, where there is no HTTP answer to give: what the handler throws is
 * logged at error level, with its stack and the facts gathered so far, counted as a `failed` event
 * when its type is known (`countAs`; by default the facts' event type), and thrown on, so the
 * platform retries it and then dead-letters it.
 */
export function failureLog(
  message: string,
  countAs: (facts: EventFacts) => string | undefined = (facts) => facts.eventType,
): MiddlewareObj<unknown, unknown, Error, Context & EventFactsContext> {
  return {
    before: function failureLogBefore(request) {
      // A context of its own per invocation: local callers hand every invocation the same object.
      request.context = { ...request.context, facts: {} };
    },
    onError: function failureLogOnError(request) {
      const facts = request.context.facts ?? {};
      logger.error(message, { ...facts, error: request.error as Error });
      const eventType = countAs(facts);
      if (eventType !== undefined) recordEvent(eventType, "failed", 0);
    },
  };
}
