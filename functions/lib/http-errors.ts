/** A request refused at the edge, before the domain: carries its HTTP status and error code. */
export class RequestRejected extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "RequestRejected";
  }
}
