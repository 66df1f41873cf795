import { scheduledPagingSuite } from "../support/scheduled-paging.js";

scheduledPagingSuite("in memory");
