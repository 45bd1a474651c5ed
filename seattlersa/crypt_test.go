package seattlersa

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

// The keys and vectors below were computed once with python3 (its own
// Miller-Rabin prime search and pow(m, e, n)), independently of this package.
// The messages cover a single block, several blocks, leading zero bytes (which
// the 0x01 marker must preserve), an API key payload and the empty message.

var vectorKeys = map[int]struct{ pub, priv string }{
	512: {
		pub:  "65537 8851453651807926889686214900223432053553567980176383887380498343895212561549356697955516236959869610093151706425393459212073631756657080881346335951753331",
		priv: "8131581702159083483335183796904835034382099689983971568846875258112197120606539653891911169523775166347749719073984473799082918124770058301029290909790985 93113306369525680446222398464583245158599947024805700011111510164780519646933 95061103476235801826877705276035782561491394693265986503705002012577765805607",
	},
	1024: {
		pub:  "65537 130848654942274119089341381161595335999175053299738693948069571895440410918445180090134017960528797816318984992282924982885469772125077424152292282229786666661866990777353754819440468484165782903597753946674967809293349476637106455853299157495390686005109649545369483113530724782490369298953560601764210749219",
		priv: "36341413510830119103166025602382750291544994738267600092203829098689387056739539008508466895304105739546182535507176107213960370359043887794986406474916100677439406233594785053226731585685127931766893697096713786694813380720516938820011810269935614471662901550332510972207261080756402324365526212643261553313 11634562461153513754537346843997235732954068520398487166624077399732758144087502058955317782627325219147798674936170561383615187510654638907116162372922731 11246547120200089784479801551751458880338266355170722284679413401423239443709992427214063072822682232465327392175138467238681338000984060643409895792753449",
	},
}

var cryptVectors = []struct {
	name string
	bits int
	msg  string
	text string
}{
	{
		name: "512/short",
		bits: 512,
		msg:  "hello",
		text: " 668462310199942993937218528298612070676910227551425293792313184128482702201081576589384958038613903755569715941402251173939829665957524892950292320641971",
	},
	{
		name: "512/multi-block",
		bits: 512,
		msg:  "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f !\x22#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\x5c]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7",
		text: " 3824032191906897265808665147242558824530356839720103911697925010814393721120978378049121628543119798349878730820602288165706663842891959731341907400204637 8808248114348834339669663635138777152872595058998651626400070802423197293031134331369730294670359403039132365778554172995677808683679502741454192198767040 631012065758464536229553504074807656778613142431373743467841218018191722197443589639871934030997818819076339304562061613578767115212380229166354197110589 3970925027752342097076086445771338059873337096493540036210361476476071312650796407128731411093980555940048842118242637966069245757799359965709636910284396",
	},
	{
		name: "512/leading zero bytes",
		bits: 512,
		msg:  "\x00\x00lead",
		text: " 529314284261129504423431781138159205135054832963508185520843976995853990388965712891616454329349373135636748791705541855788576220888286421098594393016982",
	},
	{
		name: "512/api key payload",
		bits: 512,
		msg:  "Ab3dEfGhIjKlMnOpQrSt!0123456789ABCDEFGHIJKLMNPQRSTUVW",
		text: " 798306550946024480002817727021172478878930273751704903505613812024536476408217643281104273378793687323958869462666413061812131232300499012489937048239665",
	},
	{
		name: "512/empty",
		bits: 512,
		msg:  "",
		text: "",
	},
	{
		name: "1024/short",
		bits: 1024,
		msg:  "hello",
		text: " 36314799686375048395176311336261446897181617391586442001557701301026244188045685687088692576618898277371471202519422949292311048565380993709522279089526163173552382897500194206009109644968829774268325256874580027923043880333237191061263172141197933849890948505270857909171940539739435940474059030146026209265",
	},
	{
		name: "1024/multi-block",
		bits: 1024,
		msg:  "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f !\x22#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\x5c]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7",
		text: " 23027833682185564442463472727099235178274660307961071620636145965033030464160642978463278891829787458081256565926007569495919708789234124270047879570077690908246990067626851545510684042088826560863959109128862551580116267204939000929279950526450858068988648379061612058076889204632900510047894845249554652583 51026268166914801797285386640080998628714926978171888792914646304220631390595027122777138965309580387247174512644399275547793195770832290667243678936940674052937407693688434369941427662941393907970830523661409243029901088244731434497172046241083455532941001728316109155804148667748551377533630670597140590881",
	},
	{
		name: "1024/leading zero bytes",
		bits: 1024,
		msg:  "\x00\x00lead",
		text: " 57588262496434474881095503052598508172129706080684190575632710177282196389594397815266944807206533204437486662102035074490440641724898719593668684284003793461954837683097078636182240576537916684451111070328204352321213546465295485426749931413479316005700361743158216899289554984316743922245183467013720138514",
	},
	{
		name: "1024/api key payload",
		bits: 1024,
		msg:  "Ab3dEfGhIjKlMnOpQrSt!0123456789ABCDEFGHIJKLMNPQRSTUVW",
		text: " 104076954134541883208867284513958512886780532687695897401027832825081054235460964206496414671084823843796547422735899003396709702246183225879134280948211016005967821589162233359060743114390164348429021565929294300577451677480730511161000727728863138845616961018353924737851994295532002325944139857737141433809",
	},
	{
		name: "1024/empty",
		bits: 1024,
		msg:  "",
		text: "",
	},
}

func TestEncryptVectors(t *testing.T) {
	for _, tt := range cryptVectors {
		t.Run(tt.name, func(t *testing.T) {
			pub, _ := vectorKey(t, tt.bits)
			if have := Encrypt(pub, []byte(tt.msg)); have != tt.text {
				t.Errorf("Encrypt(%q)\nhave %q\nwant %q", tt.msg, have, tt.text)
			}
		})
	}
}

func TestDecryptVectors(t *testing.T) {
	for _, tt := range cryptVectors {
		t.Run(tt.name, func(t *testing.T) {
			_, priv := vectorKey(t, tt.bits)
			if tt.text == "" {
				// Encrypt of nothing is no blocks; Decrypt refuses empty text.
				if _, err := Decrypt(priv, tt.text); !errors.Is(err, ErrMalformedCiphertext) {
					t.Errorf("Decrypt(%q) error = %v, want ErrMalformedCiphertext", tt.text, err)
				}
				return
			}
			for _, text := range []string{tt.text, strings.TrimSpace(tt.text), "\n\t" + tt.text + "  \r\n"} {
				have, err := Decrypt(priv, text)
				if err != nil {
					t.Fatalf("Decrypt: %v", err)
				}
				if string(have) != tt.msg {
					t.Errorf("Decrypt\nhave %q\nwant %q", have, tt.msg)
				}
			}
		})
	}
}

func TestBlockSize(t *testing.T) {
	tests := []struct {
		bits, want int
	}{
		{1024, 126}, {512, 62}, {433, 53}, {432, 52}, {256, 30}, {25, 2}, {17, 1}, {16, 0}, {9, 0}, {8, -1},
	}
	for _, tt := range tests {
		n := new(big.Int).Lsh(big.NewInt(1), uint(tt.bits-1)) // the smallest n with that bit length
		if have := BlockSize(&PublicKey{E: big.NewInt(3), N: n}); have != tt.want {
			t.Errorf("BlockSize(%d-bit n) = %d, want %d", tt.bits, have, tt.want)
		}
	}
	for _, bits := range []int{512, 1024} {
		pub, _ := vectorKey(t, bits)
		if have, want := BlockSize(pub), (bits-1)/8-1; have != want {
			t.Errorf("BlockSize(vector %d) = %d, want %d", bits, have, want)
		}
	}
}

func TestEncryptBlocks(t *testing.T) {
	pub, priv := vectorKey(t, 512)
	b := BlockSize(pub)
	for _, size := range []int{0, 1, b - 1, b, b + 1, 2 * b, 3*b + 5} {
		msg := bytes.Repeat([]byte{0}, size) // all zeros: only the marker keeps them
		text := Encrypt(pub, msg)
		if wantBlocks := (size + b - 1) / b; strings.Count(text, " ") != wantBlocks {
			t.Errorf("%d bytes: %d blocks, want %d", size, strings.Count(text, " "), wantBlocks)
		}
		if size == 0 {
			if text != "" {
				t.Errorf("Encrypt(empty) = %q, want \"\"", text)
			}
			continue
		}
		if !strings.HasPrefix(text, " ") || strings.Contains(text, "  ") {
			t.Errorf("%d bytes: %q is not the \" c1 c2\" form", size, text)
		}
		have, err := Decrypt(priv, text)
		if err != nil || !bytes.Equal(have, msg) {
			t.Errorf("%d bytes: Decrypt(Encrypt(m)) = %x, %v; want %x", size, have, err, msg)
		}
	}
	if have := Encrypt(pub, nil); have != "" {
		t.Errorf("Encrypt(nil) = %q, want \"\"", have)
	}
}

// TestEncryptToyKey checks that a modulus too small for a one-byte block still
// terminates (the spec's BlockSize is 0 here).
func TestEncryptToyKey(t *testing.T) {
	pub, err := ParsePublicKey("17 3233")
	if err != nil {
		t.Fatal(err)
	}
	if have := strings.Count(Encrypt(pub, []byte("abc")), " "); have != 3 {
		t.Errorf("Encrypt with a 12-bit modulus gave %d blocks, want 3", have)
	}
}

func TestDecryptSpecialValues(t *testing.T) {
	pub, priv := vectorKey(t, 512)
	n := priv.N()
	raw := func(m *big.Int) string { return new(big.Int).Exp(m, pub.E, n).String() }
	tests := []struct {
		name string
		text string
		want string
	}{
		{name: "zero gives no bytes", text: "0", want: ""},
		{name: "one is a lone marker", text: "1", want: ""},
		{name: "zero between blocks", text: raw(big.NewInt(0x0161)) + " 0 " + raw(big.NewInt(0x0162)), want: "ab"},
		{name: "marker value not checked", text: raw(big.NewInt(0x026869)), want: "hi"},
		{name: "marker 0xff", text: raw(big.NewInt(0xff21)), want: "!"},
		{name: "token above n", text: new(big.Int).Add(n, mustInt(t, raw(big.NewInt(0x014f4b)))).String(), want: "OK"},
		{name: "plus sign", text: "+" + raw(big.NewInt(0x0178)), want: "x"},
		{name: "leading zeros", text: "000" + raw(big.NewInt(0x0179)), want: "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			have, err := Decrypt(priv, tt.text)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(have) != tt.want {
				t.Errorf("Decrypt\nhave %q\nwant %q", have, tt.want)
			}
		})
	}
}

func mustInt(t *testing.T, s string) *big.Int {
	t.Helper()
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return x
}

func TestDecryptMalformed(t *testing.T) {
	_, priv := vectorKey(t, 512)
	good := strings.TrimSpace(cryptVectors[0].text)
	for _, text := range []string{
		"", " ", "\t\n", "abc", "12 x3", good + " garbage", "-5", good + " -1", "1.5", "0x10", "1e9",
		"+-1", "+", "-", "１２", "12\x00", "\xff\xfe", "1_000", good + ",",
	} {
		have, err := Decrypt(priv, text)
		if !errors.Is(err, ErrMalformedCiphertext) {
			t.Errorf("Decrypt(%q) = %q, %v; want an ErrMalformedCiphertext error", text, have, err)
			continue
		}
		if have != nil {
			t.Errorf("Decrypt(%q) returned bytes with an error", text)
		}
		if !strings.HasPrefix(err.Error(), "seattlersa: ") || strings.Contains(err.Error(), good) {
			t.Errorf("Decrypt(%q) error %q: want the package prefix and no token text", text, err)
		}
	}
}

func TestDecryptWrongKey(t *testing.T) {
	pub, _ := vectorKey(t, 512)
	_, other := generated(t, 3, 512)
	msg := "a message for someone else"
	have, err := Decrypt(other, Encrypt(pub, []byte(msg)))
	if err != nil {
		t.Fatalf("Decrypt with the wrong key: %v (want garbage, not an error)", err)
	}
	if string(have) == msg {
		t.Errorf("Decrypt with the wrong key recovered the message")
	}
}

// TestEncryptMatchesPython has python3 compute pow(m, e, n) on the same keys
// and messages, and decrypt our ciphertexts with pow(c, d, n).
func TestEncryptMatchesPython(t *testing.T) {
	const script = `
import json, sys
out = []
for c in json.load(sys.stdin):
    e, n = map(int, c["pub"].split())
    d, p, q = map(int, c["priv"].split())
    msg = bytes.fromhex(c["msg"])
    size = (n.bit_length() - 1) // 8 - 1
    enc = "".join(" " + str(pow(int.from_bytes(b"\x01" + msg[i:i + size], "big"), e, n)) for i in range(0, len(msg), size))
    dec = b""
    for tok in c["ours"].split():
        m = pow(int(tok), d, p * q)
        dec += m.to_bytes((m.bit_length() + 7) // 8, "big")[1:]
    out.append({"enc": enc, "dec": dec.hex()})
print(json.dumps(out))
`
	type vec struct {
		Pub  string `json:"pub"`
		Priv string `json:"priv"`
		Msg  string `json:"msg"`
		Ours string `json:"ours"`
	}
	type result struct {
		Enc string `json:"enc"`
		Dec string `json:"dec"`
	}
	src := seeded(99)
	var in []vec
	for _, bits := range []int{512, 1024} {
		for seed := byte(10); seed < 12; seed++ {
			pub, priv := generated(t, seed, bits)
			b := BlockSize(pub)
			for _, size := range []int{1, b - 1, b, b + 1, 3*b + 7} {
				msg := make([]byte, size)
				if _, err := src.Read(msg); err != nil {
					t.Fatal(err)
				}
				msg[0] = 0 // a zero byte at the start of a block
				if size > b {
					msg[b] = 0
				}
				in = append(in, vec{pub.String(), priv.String(), hex.EncodeToString(msg), Encrypt(pub, msg)})
			}
		}
	}
	var out []result
	runPython(t, script, in, &out)
	if len(out) != len(in) {
		t.Fatalf("python3 returned %d results for %d cases", len(out), len(in))
	}
	for i, r := range out {
		if r.Enc != in[i].Ours {
			t.Errorf("case %d (%d-byte message): Encrypt differs from python\nhave %.60q…\nwant %.60q…", i, len(in[i].Msg)/2, in[i].Ours, r.Enc)
		}
		if r.Dec != in[i].Msg {
			t.Errorf("case %d: python decrypts our ciphertext to %.40s…, want %.40s…", i, r.Dec, in[i].Msg)
		}
	}
}

// FuzzEncryptDecrypt checks that any non-empty message survives a round trip.
func FuzzEncryptDecrypt(f *testing.F) {
	for _, v := range cryptVectors {
		f.Add([]byte(v.msg))
	}
	f.Add([]byte{0})
	f.Add([]byte{0xff, 0, 0, 1})
	pub, priv := vectorKey(f, 512)
	f.Fuzz(func(t *testing.T, msg []byte) {
		text := Encrypt(pub, msg)
		if len(msg) == 0 {
			if text != "" {
				t.Fatalf("Encrypt(empty) = %q", text)
			}
			return
		}
		have, err := Decrypt(priv, text)
		if err != nil {
			t.Fatalf("Decrypt(Encrypt(%x)): %v", msg, err)
		}
		if !bytes.Equal(have, msg) {
			t.Fatalf("Decrypt(Encrypt(m))\nhave %x\nwant %x", have, msg)
		}
	})
}

// TestDecryptTokenBound checks that a ciphertext token with more digits than
// a modulus within MaxModulusBits can have is refused before it is parsed,
// while leading zeros do not count.
func TestDecryptTokenBound(t *testing.T) {
	_, priv := vectorKey(t, 512)
	good := strings.TrimSpace(cryptVectors[0].text)
	want, err := Decrypt(priv, good)
	if err != nil {
		t.Fatal(err)
	}
	have, err := Decrypt(priv, strings.Repeat("0", 100_000)+good)
	if err != nil || !bytes.Equal(have, want) {
		t.Errorf("Decrypt(leading zeros + token) = %q, %v; want %q", have, err, want)
	}
	for _, text := range []string{
		strings.Repeat("7", maxKeyDigits+1),
		strings.Repeat("7", 200_000),
		good + " " + strings.Repeat("3", 4<<20),
	} {
		var err error
		within(t, 2*time.Second, fmt.Sprintf("Decrypt(%d bytes)", len(text)), func() { _, err = Decrypt(priv, text) })
		if !errors.Is(err, ErrMalformedCiphertext) {
			t.Errorf("Decrypt(%d-digit token) error = %v, want ErrMalformedCiphertext", len(text), err)
		}
	}
}
