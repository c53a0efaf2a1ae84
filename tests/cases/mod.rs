mod cli;
mod migrate;
mod properties;
mod prune;
mod rescue;
mod seed;
mod stats;
mod watch;
