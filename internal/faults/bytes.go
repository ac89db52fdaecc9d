package faults

// Stream is the body of bytes/{n}?seed=s: splitmix64's outputs from s, each
// written as 8 bytes, least significant first. Any language can make the
// same bytes in a few lines, so a client can check what it received:
//
//	state += 0x9e3779b97f4a7c15
//	z := state
//	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
//	z = (z ^ z>>27) * 0x94d049bb133111eb
//	output z ^ z>>31
//
// The server makes the body a chunk at a time into the connection's output
// buffer, so n bytes cost no n bytes of memory.
type Stream struct{ state uint64 }

// NewStream starts the stream of seed.
func NewStream(seed uint64) Stream { return Stream{seed} }

func (s *Stream) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Fill fills b with the stream's next bytes. Every call but the last must
// fill a multiple of 8 bytes: a word is never split between two calls.
func (s *Stream) Fill(b []byte) {
	for len(b) >= 8 {
		v := s.next()
		b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		b[4], b[5], b[6], b[7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
		b = b[8:]
	}
	if len(b) > 0 {
		v := s.next()
		for i := range b {
			b[i] = byte(v >> (8 * i))
		}
	}
}
