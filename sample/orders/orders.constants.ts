export const ORDERS_STREAM = process.env.ORDERS_STREAM ?? 'orders';
