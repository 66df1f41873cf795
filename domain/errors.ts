/** Errors the sync domain raises. They carry no HTTP status: `functions/` maps them in one place. */

export class NotFound extends Error {
  constructor(
    readonly resource: "tenant" | "quote" | "opportunity",
    readonly resourceId: string,
    options?: ErrorOptions,
  ) {
    super(`${resource} ${resourceId} not found`, options);
    this.name = "NotFound";
  }
}

export type PreconditionCode =
  | "currency_mismatch"
  | "pricebook_mismatch"
  | "quote_expired"
  | "quote_not_attached";

/** A start refused by SPEC §1.10: nothing changed. */
export class PreconditionFailed extends Error {
  constructor(
    readonly code: PreconditionCode,
    message: string,
    readonly details: unknown[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "PreconditionFailed";
  }
}

export class Forbidden extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "Forbidden";
  }
}

/** Input that passed the schema but breaks a rule that needs the tenant or stored state to see. */
export class InvalidEvent extends Error {
  constructor(
    message: string,
    readonly details: Array<{ path: (string | number)[]; message: string }>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "InvalidEvent";
  }
}

/** Another writer changed a record this decision read; reload and decide again. */
export class ConcurrentModification extends Error {
  constructor(
    readonly context: { items: string[] },
    options?: ErrorOptions,
  ) {
    super(`concurrent modification of ${context.items.join(", ")}`, options);
    this.name = "ConcurrentModification";
  }
}

/** The same event was committed by another delivery; its stored response answers this one. */
export class DuplicateEvent extends Error {
  constructor(
    readonly eventKey: string,
    options?: ErrorOptions,
  ) {
    super(`event ${eventKey} was already processed`, options);
    this.name = "DuplicateEvent";
  }
}

/** Storage stayed contended or throttled after bounded retries; nothing was written. */
export class StorageBusy extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    options?: ErrorOptions,
  ) {
    super("storage is busy; retry later", options);
    this.name = "StorageBusy";
  }
}

/**
 * A page cursor no read of this store gave out: malformed, of another tenant, or past the end of
 * the log it names. Polling on with it would return nothing forever, so the read refuses it.
 */
export class InvalidCursor extends Error {
  constructor(cursor: string, reason = "not a cursor this outbox gave out", options?: ErrorOptions) {
    super(`invalid cursor ${JSON.stringify(cursor.slice(0, 40))}: ${reason}`, options);
    this.name = "InvalidCursor";
  }
}

/**
 * A tenant names a HubSpot portal another tenant already serves (CONNECTORS §1): HubSpot's webhooks
 * name the portal, not the tenant, so one portal belongs to one tenant. Nothing was written.
 */
export class PortalInUse extends Error {
  constructor(
    readonly portalId: number,
    readonly ownerTenantId: string,
    options?: ErrorOptions,
  ) {
    super(
      `HubSpot portal ${portalId} is already served by tenant ${ownerTenantId}; a portal belongs to one tenant (change or remove that tenant's HubSpot connector first)`,
      options,
    );
    this.name = "PortalInUse";
  }
}
