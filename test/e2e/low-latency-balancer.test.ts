/**
 * The low-latency suite again, through a scaled endpoint: two origin replicas behind the nginx
 * balancer, so blocking requests are held across nginx too (never buffered, within its read timeout)
 * and 500 of them do not slow other players down.
 */
process.env.LIVESTACK_LL_SCALE_UNITS = '2';
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./low-latency.test');
