// Package bench holds the benchmark programs behind `souk bench`, so that
// anyone can reproduce the figures in bench/README.md on their own machine.
// Each program prints what it measured and ends with one line of
// key=value figures.
package bench
