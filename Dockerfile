# auth0-operator container image.
#
#   docker build -t auth0-operator .
#   docker run --rm auth0-operator --help
#
# Build stage: the official Rust image on Debian bookworm (glibc 2.36, the same as the runtime
# stage). Only the operator binary is built: no `sim` or `envtest` feature, so neither the Auth0
# simulator nor the test apiserver harness is in the image.
FROM rust:1.95-bookworm AS build
WORKDIR /src

# Dependency layer: build every dependency against stub sources, so that a change under src/
# does not rebuild the whole dependency tree. Rebuilt only when Cargo.toml or Cargo.lock change.
# Cargo.toml names a benchmark (benches/operator.rs): Cargo refuses a manifest whose targets are
# missing, so a stub stands in for it in both builds (the image never builds benchmarks).
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src/bin benches \
    && echo 'fn main() {}' > src/main.rs \
    && echo 'fn main() {}' > src/bin/auth0-sim.rs \
    && echo 'fn main() {}' > benches/operator.rs \
    && touch src/lib.rs \
    && cargo build --release --locked --bin auth0-operator \
    && rm -rf src

COPY src ./src
# The stub build left newer outputs than the copied sources' timestamps: touch the crate roots so
# Cargo rebuilds the operator itself (dependencies stay cached).
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin auth0-operator \
    && cp target/release/auth0-operator /auth0-operator

# Runtime stage: distroless "cc" (glibc, libgcc, CA certificates, /etc/passwd with the nonroot
# user 65532; no shell, no package manager). Chosen over `scratch` + a static musl build because
# the glibc binary from the build stage runs as is (ring's C/assembly code and the vendored
# dependencies need no musl cross toolchain), and the system CA bundle that the Auth0 client's
# TLS verifier reads (/etc/ssl/certs) is already there.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /auth0-operator /auth0-operator
USER 65532:65532
# Metrics (/metrics) and probes (/healthz, /readyz).
EXPOSE 8080
ENTRYPOINT ["/auth0-operator"]
CMD ["run"]
