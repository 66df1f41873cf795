import type { ConnectorSide } from "../domain/connectors.js";
import type { MirrorApplier } from "./applier.js";

/** The kinds of applier `deliver` knows: one per way of applying a mirror to a real system. */
export type ApplierKind = MirrorApplier["kind"];

/**
 * kind → a loader of its applier. Each loader is a dynamic `import()`, so a vendor's code is bundled
 * as its own chunk and loaded only by the first mirror that needs it, never by functions (or cold
 * starts) that deliver nothing of that kind. Adding a kind is one line here.
 */
const loaders: Partial<Record<ApplierKind, () => Promise<MirrorApplier>>> = {
  webhook: () => import("./webhook/applier.js").then((module) => module.webhookApplier),
  salesforce: () => import("./salesforce/applier.js").then((module) => module.salesforceApplier),
  hubspot: () => import("./hubspot/applier.js").then((module) => module.hubSpotApplier),
};

/** The applier kind that delivers mirrors to this side, or null when the side only keeps its outbox. */
export function applierKindFor(side: ConnectorSide): ApplierKind | null {
  if (side.kind === "native") return side.delivery ? "webhook" : null;
  return side.kind;
}

/** Raised when a tenant names a connector kind this build cannot apply mirrors with. */
export class UnknownApplierKind extends Error {
  constructor(
    readonly kind: string,
    options?: ErrorOptions,
  ) {
    super(`no applier for connector kind ${JSON.stringify(kind)}`, options);
    this.name = "UnknownApplierKind";
  }
}

const loaded = new Map<ApplierKind, Promise<MirrorApplier>>();

/** The applier of a kind, loaded once per container. */
export function applierFor(kind: ApplierKind): Promise<MirrorApplier> {
  const load = loaders[kind];
  if (!load) return Promise.reject(new UnknownApplierKind(kind));
  let applier = loaded.get(kind);
  if (!applier) {
    applier = load().catch((error: unknown) => {
      loaded.delete(kind);
      throw error;
    });
    loaded.set(kind, applier);
  }
  return applier;
}

/** Whether this build has an applier for the kind (a tenant naming another is refused or parked). */
export function hasApplier(kind: ApplierKind): boolean {
  return loaders[kind] !== undefined;
}
