/**
 * Adam with decoupled weight decay (AdamW) over plain Float32Arrays. The
 * main thread only updates parameters (replicas compute gradients), so it
 * needs no tensor backend of its own.
 */
export interface AdamOptions {
  learningRate: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  constructor(
    params: readonly Float32Array[],
    private readonly opts: AdamOptions,
  ) {
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  /** Updates `params` in place from gradients of the mean loss, at the learning rate times `scale` (a schedule's factor). */
  step(params: Float32Array[], grads: readonly Float32Array[], scale = 1): void {
    const { learningRate, weightDecay = 0, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = this.opts;
    const lr = learningRate * scale;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    params.forEach((p, k) => {
      const g = grads[k]!;
      const m = this.m[k]!;
      const v = this.v[k]!;
      for (let i = 0; i < p.length; i++) {
        m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!;
        v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
        p[i] = p[i]! * (1 - lr * weightDecay) - (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + epsilon);
      }
    });
  }
}
