/**
 * Compensated (Neumaier) summation. Means and step sums over ten million terms would otherwise
 * drift by up to n·ε; numpy's pairwise summation keeps its error near log(n)·ε, and matching it
 * to 1e-9 needs at least as much care here.
 */
export class CompensatedSum {
  private sum = 0;
  private compensation = 0;

  add(term: number): void {
    const total = this.sum + term;
    if (Math.abs(this.sum) >= Math.abs(term)) this.compensation += this.sum - total + term;
    else this.compensation += term - total + this.sum;
    this.sum = total;
  }

  get value(): number {
    return this.sum + this.compensation;
  }
}
