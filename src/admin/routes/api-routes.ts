import type { ApiRoute } from '../api-route.ts';
import { deliveryRoutes } from './delivery-routes.ts';
import { userRoutes } from './user-routes.ts';
import { webhookRoutes } from './webhook-routes.ts';

/** Every admin API route; the OpenAPI document and the router are both built from this list. */
export const API_ROUTES: readonly ApiRoute[] = [...userRoutes, ...webhookRoutes, ...deliveryRoutes];
