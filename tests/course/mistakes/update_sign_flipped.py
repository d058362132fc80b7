# mistake: sign flipped
# replaces: update_impl
# caught by: update_step_values
def gradient_descent_step(params, grads, lr):
    """A common slip: adds the gradient (ascent) instead of subtracting it."""
    return {name: p + lr * grads["d" + name] for name, p in params.items()}
