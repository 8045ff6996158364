import { Injectable } from '@nestjs/common';
import type { OrderEvent } from './order-event';

/**
 * Stands in for a repository: totals per customer. A real app would write to a database in the same
 * transaction as an idempotency key (the orderId), since Kinesis delivers at least once.
 */
@Injectable()
export class CustomerTotalsService {
  private readonly totals = new Map<string, number>();
  private readonly seen = new Set<string>();
  duplicates = 0;

  record(order: OrderEvent): void {
    if (this.seen.has(order.orderId)) {
      this.duplicates++;
      return;
    }
    this.seen.add(order.orderId);
    this.totals.set(order.customerId, (this.totals.get(order.customerId) ?? 0) + order.amountCents);
  }

  get ordersCounted(): number {
    return this.seen.size;
  }

  top(n: number): [string, number][] {
    return [...this.totals].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}
