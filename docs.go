// Package rawserve holds the teaching documents, so that the binary can
// serve them: the demo page links to docs/ at /docs/, and a classroom
// without a network still follows every link. (go:embed reaches only files
// beside or below the package that embeds them; this package is at the
// root for that reason, and has nothing else in it.)
package rawserve

import "embed"

// Docs is docs/*.md and the diagrams drawn from docs/diagrams/*.dot.
//
//go:embed docs/*.md docs/diagrams/*.svg
var Docs embed.FS
