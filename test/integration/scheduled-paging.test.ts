import { scheduledPagingSuite } from "../support/scheduled-paging.js";

scheduledPagingSuite("DynamoDB Local");
