module github.com/souk-market/souk

go 1.26
