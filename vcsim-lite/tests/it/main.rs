//! Integration tests of vcsim-lite (one binary to save link time).

mod portlayer_flow;

mod docker_api;
mod http_fuzz;
mod portlayer_http;
mod provider_clients;
mod provider_facade;
mod provider_ops;
mod soap;
mod soap_fuzz;
mod support;
