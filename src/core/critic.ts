// StyleGAN2-ADA's overfitting heuristics for a discriminator (Karras et al. 2020), from its logits
// log(p_real / p_fake): r_t = E[sign(logit)] on the training images (ADA steers it to 0.6: above, the critic is
// too sure of the training set), and r_v = (E[train] - E[validation]) / (E[train] - E[generated]): 0 when
// held-out real images score as training ones do, 1 when they score as generated ones (it has memorised the
// training set). Pure; the trainer computes the logits (trainer/critic.ts).

/** The discriminator's scores at an evaluation: mean "real" probabilities, r_t and r_v. */
export interface CriticScores {
  /** The mean per-patch probability of "real" on the training targets, the test targets and generated images. */
  train: number;
  test: number;
  generated: number;
  rt: number;
  /** Absent when the training and generated logits have the same mean (no scale to measure against). */
  rv?: number;
}

const mean = (xs: ArrayLike<number>, f: (v: number) => number = (v) => v) => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += f(xs[i]);
  return s / xs.length;
};
const sigmoid = (logit: number) => 1 / (1 + Math.exp(-logit));

export function criticFromLogits(
  train: ArrayLike<number>,
  test: ArrayLike<number>,
  generated: ArrayLike<number>,
): CriticScores {
  const [lt, lv, lg] = [mean(train), mean(test), mean(generated)];
  const rv = Math.abs(lt - lg) > 1e-9 ? (lt - lv) / (lt - lg) : undefined;
  return {
    train: mean(train, sigmoid),
    test: mean(test, sigmoid),
    generated: mean(generated, sigmoid),
    rt: mean(train, Math.sign),
    ...(rv === undefined ? {} : { rv }),
  };
}
