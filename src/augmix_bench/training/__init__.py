"""Training: the loop, training plans (augmentation -> views + objective), batch sources,
the learning-rate schedule."""
