import Foundation

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    /// The parameters it updates (frozen ones and those without a gradient are skipped).
    var parameters: [Parameter] { get }
    /// Step size; schedules set it before each step.
    var learningRate: Float { get set }
    /// Applies one update from the current gradients.
    func step()
}

extension Optimizer {
    /// Drops every parameter's gradient (call before accumulating the next batch).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, as `torch.optim.SGD`.
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public var momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    private var buffers: [ObjectIdentifier: Tensor] = [:]

    /// Creates the optimizer over `parameters`.
    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters; self.learningRate = learningRate; self.momentum = momentum
        self.dampening = dampening; self.weightDecay = weightDecay; self.nesterov = nesterov
    }

    public func step() {
        for p in parameters where !p.isFrozen {
            guard let g = p.grad else { continue }
            let key = ObjectIdentifier(p)
            let fresh = buffers[key] == nil
            if momentum != 0 && fresh { buffers[key] = Tensor(zeros: p.shape) }
            let buf = buffers[key]?.storage.pointer
            let (lr, mu, damp, wd, nest) = (learningRate, momentum, dampening, weightDecay, nesterov)
            let gp = g.storage.pointer
            let count = p.value.count
            p.withMutableValues { w in
                guard let wp = w.baseAddress else { return }
                Parallel.forChunks(count) { range in
                    for i in range {
                        var d = gp[i] + wd * wp[i]
                        if let buf {
                            buf[i] = fresh ? d : mu * buf[i] + (1 - damp) * d
                            d = nest ? d + mu * buf[i] : buf[i]
                        }
                        wp[i] -= lr * d
                    }
                }
            }
        }
    }
}

/// Adam (`torch.optim.Adam`, L2 weight decay added to the gradient) and AdamW (`torch.optim.AdamW`,
/// decoupled weight decay) with bias correction.
public final class Adam: Optimizer {
    public let parameters: [Parameter]
    public var learningRate: Float
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// True for AdamW: weights shrink by lr * weightDecay before the Adam step.
    public let decoupledWeightDecay: Bool
    /// Steps taken.
    public private(set) var stepCount = 0
    private var moments: [ObjectIdentifier: (m: Tensor, v: Tensor)] = [:]

    /// Adam with PyTorch's defaults (betas 0.9 / 0.999, eps 1e-8, no weight decay).
    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.parameters = parameters; self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.eps = eps; self.weightDecay = weightDecay; self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW with PyTorch's defaults (weight decay 0.01).
    public static func adamW(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                             eps: Float = 1e-8, weightDecay: Float = 0.01) -> Adam {
        Adam(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps,
             weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public func step() {
        stepCount += 1
        let (b1, b2, lr, wd, e, decoupled) = (beta1, beta2, learningRate, weightDecay, eps, decoupledWeightDecay)
        let bc1 = 1 - Foundation.pow(b1, Float(stepCount)), bc2 = 1 - Foundation.pow(b2, Float(stepCount))
        let stepSize = lr / bc1, bc2Root = bc2.squareRoot()
        for p in parameters where !p.isFrozen {
            guard let g = p.grad else { continue }
            let key = ObjectIdentifier(p)
            if moments[key] == nil { moments[key] = (Tensor(zeros: p.shape), Tensor(zeros: p.shape)) }
            guard let (m, v) = moments[key] else { continue }
            let mp = m.storage.pointer, vp = v.storage.pointer, gp = g.storage.pointer
            let count = p.value.count
            p.withMutableValues { w in
                guard let wp = w.baseAddress else { return }
                Parallel.forChunks(count) { range in
                    // Eight lanes at a time, then the tail: the same IEEE operations per element in either form.
                    var i = range.lowerBound
                    while i + 8 <= range.upperBound {
                        var gi = gp.loadV(i), wi = wp.loadV(i)
                        if decoupled { wi *= 1 - lr * wd } else { gi += wd * wi }
                        let mi = b1 * mp.loadV(i) + (1 - b1) * gi
                        let vi = b2 * vp.loadV(i) + (1 - b2) * gi * gi
                        wi -= stepSize * mi / (vi.squareRoot() / bc2Root + e)
                        mp.storeV(mi, i); vp.storeV(vi, i); wp.storeV(wi, i)
                        i += 8
                    }
                    for i in i..<range.upperBound {
                        var gi = gp[i]
                        if decoupled { wp[i] *= 1 - lr * wd } else { gi += wd * wp[i] }
                        mp[i] = b1 * mp[i] + (1 - b1) * gi
                        vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                        wp[i] -= stepSize * mp[i] / (vp[i].squareRoot() / bc2Root + e)
                    }
                }
            }
        }
    }
}

/// Learning-rate schedules as functions of the step (0-based).
public enum LearningRateSchedule {
    /// Linear warm-up from 0 to `base` over `warmupSteps`, then constant.
    public static func warmup(step: Int, base: Float, warmupSteps: Int) -> Float {
        warmupSteps > 0 && step < warmupSteps ? base * Float(step + 1) / Float(warmupSteps) : base
    }

    /// Linear warm-up, then cosine decay from `base` to `minimum` at `totalSteps`.
    public static func warmupCosine(step: Int, base: Float, warmupSteps: Int, totalSteps: Int, minimum: Float = 0) -> Float {
        if step < warmupSteps { return warmup(step: step, base: base, warmupSteps: warmupSteps) }
        let span = Swift.max(1, totalSteps - warmupSteps)
        let progress = Float(Swift.min(step - warmupSteps, span)) / Float(span)
        return minimum + 0.5 * (base - minimum) * (1 + Foundation.cos(Float.pi * progress))
    }
}

/// Gradient clipping.
public enum GradientClipping {
    /// Scales all gradients so their joint L2 norm is at most `maxNorm` (as `clip_grad_norm_`); returns the norm
    /// before clipping.
    @discardableResult
    public static func clipNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        var total: Double = 0
        for p in parameters { if let g = p.grad { for v in g.values { total += Double(v) * Double(v) } } }
        let norm = Float(total.squareRoot())
        let scale = maxNorm / (norm + 1e-6)
        if scale < 1 {
            for p in parameters {
                guard let g = p.grad else { continue }
                let gp = g.storage.pointer
                for i in 0..<g.count { gp[i] *= scale }
            }
        }
        return norm
    }
}
