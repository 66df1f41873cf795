/** How a HubSpot call failed: worth retrying (unavailable) or not (refused). */

/** HubSpot answered 429 or 5xx, or could not be reached: worth retrying after `retryAfterMs`. */
export class HubSpotUnavailable extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
    this.name = "HubSpotUnavailable";
  }
}

/** HubSpot refused the request (validation, missing record, credentials). */
export class HubSpotRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly category: string | null,
  ) {
    super(message);
    this.name = "HubSpotRefused";
  }
}
