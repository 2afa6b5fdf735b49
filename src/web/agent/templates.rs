//! The workspace's templates, compiled into the binary.

/// The templates, compiled in; HTML is auto-escaped.
pub fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    // Pages without counts or an agent render those parts empty.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for (name, text) in [
        (
            "base.html",
            include_str!("../../../templates/agent/base.html"),
        ),
        (
            "login.html",
            include_str!("../../../templates/agent/login.html"),
        ),
        (
            "queue.html",
            include_str!("../../../templates/agent/queue.html"),
        ),
        (
            "report.html",
            include_str!("../../../templates/agent/report.html"),
        ),
        (
            "admin.html",
            include_str!("../../../templates/agent/admin.html"),
        ),
        (
            "error.html",
            include_str!("../../../templates/agent/error.html"),
        ),
    ] {
        if let Err(e) = env.add_template(name, text) {
            // Templates are compiled in and rendered by the tests.
            tracing::error!(template = name, error = %e, "invalid template");
        }
    }
    env
}
