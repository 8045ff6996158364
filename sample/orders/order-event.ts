/** What the producer writes to the stream, one JSON document per record. */
export interface OrderEvent {
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly placedAt: string;
}

/** Decodes a record; a record that is not an order is reported, never silently dropped. */
export function decodeOrder(data: Buffer): OrderEvent {
  const value = JSON.parse(data.toString('utf8')) as Partial<OrderEvent>;
  if (typeof value.orderId !== 'string' || typeof value.customerId !== 'string' || !Number.isInteger(value.amountCents)) {
    throw new Error(`not an order event: ${data.toString('utf8').slice(0, 200)}`);
  }
  return value as OrderEvent;
}
