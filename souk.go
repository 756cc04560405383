// Package souk holds the vocabulary every part of the marketplace shares:
// the injectable clock and the closed set of error codes. Domain packages
// (catalog, order, delivery, …) build on it; it imports nothing of the project.
package souk
