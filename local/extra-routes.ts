import type { ExtraRoute } from "./http-adapter.js";

export const localExtraRoutes: ExtraRoute[] = [];
