mod cli;
mod migrate;
mod properties;
mod prune;
mod seed;
mod watch;
